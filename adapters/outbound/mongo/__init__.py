"""MongoDB through Beanie: documents, mappers, repositories and the store that opens them."""
