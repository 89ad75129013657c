"""Everything between segments and HTTP: client, pacing, packing, worker pool, engines."""
