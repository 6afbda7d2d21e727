//! Router: the CJDHT (legacy DHT) node store, queries and path discovery.
