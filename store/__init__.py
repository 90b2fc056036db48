"""PostgreSQL store: claims that can never overlap, appointments, outside bookings.

The database is the arbiter between calls. An exclusion constraint (btree_gist) makes two
active claims on one resource with overlapping time impossible, whatever races above it.
"""
