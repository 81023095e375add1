"""Exports of stored days: NEM12 and CSV files (docs/exports.md).

- `settings`: the TEMPEST_NEM12_* and TEMPEST_EXPORT_* settings
- `identity`: each meter's NMI and each channel's NMI suffix (settings, else defaults; never the
  meter's own day file)
- `market`: re-bucketing interval ends into NEM12's fixed-offset market days
- `nem12`: the NEM12 writer (100, 200, 300, 400, 900 records)
- `csv_rows`: one CSV row per interval
- `cli`: `tempest export ...`
"""
