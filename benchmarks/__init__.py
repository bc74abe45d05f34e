"""What is measured: benchmark specifications, data sources and conditioning."""
