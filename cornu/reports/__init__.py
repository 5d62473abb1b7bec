"""Human-facing output: progress lines, model summaries, plots and the HTML run report."""
