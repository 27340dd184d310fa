"""Scale-out: several host processes serving one platform over PostgreSQL and Redis.

``lease`` holds the pure rules (leases, fencing tokens); the other modules carry them
over Redis and the database.
"""

__all__: list[str] = []
