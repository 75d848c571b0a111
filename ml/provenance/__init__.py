"""What marks a generated video as generated: a visible moving watermark (``watermark``), a signed C2PA
manifest (``c2pa``), and a perceptual fingerprint that survives re-encoding (``fingerprint``)."""
