"""Human-facing output: progress lines and model summaries."""
