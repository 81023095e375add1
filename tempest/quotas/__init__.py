"""Per-meter allowances and the disk reserve, so one meter's key cannot fill the disk and
leave every other meter with 503s (docs/operations.md#quotas; security review, finding 12).

- `settings`: the limits (TEMPEST_METER_*, TEMPEST_DISK_RESERVE_BYTES), merged into
  tempest.settings;
- `limits`: the checks: upload token buckets, a meter's quarantined bytes, its rsync drop
  folder's bytes, free space against the reserve; and the count of what was dropped.
"""
