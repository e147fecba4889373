"""A/B/n experiments: stable assignment (``assignment``), their analysis (``analysis``) and the
send hour learned per customer (``send_time``)."""
