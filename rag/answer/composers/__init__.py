"""Answer producers behind one protocol, chained by the pipeline (see ``base``)."""
