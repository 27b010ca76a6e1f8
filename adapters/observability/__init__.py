"""What operators see: request context, structured logs and Prometheus metrics."""
