"""Where the bytes of pictures and files live (docs/decisions.md, "Pictures (MMS)"): a
`MediaStore` (base.py); the data dir's (files.py) is the only one so far."""
