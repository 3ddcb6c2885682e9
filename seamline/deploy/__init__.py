"""Deployment files generated from the install they run from (systemd units, sysusers.d, tmpfiles.d)."""
