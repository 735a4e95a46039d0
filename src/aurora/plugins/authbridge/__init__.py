"""The Linux authentication bridge, a reference plugin shipped with Aurora: it follows sshd, sudo
and su (journald when it runs, else /var/log/auth.log) and emits OCSF Authentication (3002)."""
