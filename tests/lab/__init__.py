"""The lab fleet test bed: real SSH hosts on loopback for the Ansible tests (docs/lab.md)."""
