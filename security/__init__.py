"""Who may talk to the cluster's broker and about what: the cluster PKI (CA, per-gateway and
per-service certificates, revocation list) and the broker configuration and ACL rendered from
master data and that PKI. Runs where the CA lives; a gateway only receives its certificate files."""
