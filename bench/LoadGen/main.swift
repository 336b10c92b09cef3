print("load generator: not yet written")
