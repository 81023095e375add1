"""Tempest collects over DLMS/COSEM like a head-end (docs/dlms.md): it reads a meter's clock,
registers and load profile by range with PyPI's dlms-cosem client (`client`), builds the day
file and drops it in the drop folder like every other route (`collect`)."""
