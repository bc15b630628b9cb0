"""The issuer's store, the bottom floor: the tables (:mod:`.models`), the engine and its
transactions (:mod:`.db`), the migrations that build the tables, and the audit chain the
tables hold (:mod:`.audit`). It imports nothing of the services or the web above it: it
stores, it does not decide."""
