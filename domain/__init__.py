"""Pure domain logic of the salon: catalog, planning, German language. No I/O besides
reading the catalog file."""
