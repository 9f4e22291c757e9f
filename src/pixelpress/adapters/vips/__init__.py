"""The ImageProcessor over pyvips: `processor.VipsImageProcessor` is the adapter; `ingest`,
`render`, `pixels` and `animation` do its work, and `rules` holds what any engine decides
without pyvips (the tests' fake processor follows it too)."""
