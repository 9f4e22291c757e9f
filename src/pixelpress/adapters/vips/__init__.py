"""The ImageProcessor over pyvips: `processor.VipsImageProcessor` is the adapter; `ingest`,
`render`, `pixels` and `animation` do its work."""
