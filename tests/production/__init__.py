"""The production path: object storage (S3), a shared PostgreSQL catalog, REST catalogs."""
