"""Coordination of rules replicas on different hosts through PostgreSQL: leases with fencing
tokens timed by the database clock (``lease_table``, ``holdings``, ``pg_lease``), live replicas
(``membership``), dynamic shards by rendezvous hashing (``rendezvous``, ``shard_leases``) and the
window ledger (``window_ledger``). See rules/README.md, "High availability"."""
