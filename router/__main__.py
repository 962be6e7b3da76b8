from router.cli import main

main(prog_name="router")
