print("core bench: not yet written")
