print("wire bench: not yet written")
