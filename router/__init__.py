"""router: run AWS Lambda style handlers locally."""
