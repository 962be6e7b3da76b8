"""Event sources: I/O only. Each kind's module has one class that takes every enabled
trigger of that kind and a :class:`~router.sources.base.SourceContext`."""
