"""Parsers for outside data that does not fit a plain `qrtrace import` column mapping.

An adapter turns one public or legacy format into the importer's rows (person, venue, t_in,
t_out) or into exposure windows, and accounts for every input row: loaded, or rejected with
a reason. Nothing here writes to a store; callers hand the rows to `storage.importer`.
"""
