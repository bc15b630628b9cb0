"""The issuer's top floor: the enterprise API (:mod:`.api`, :mod:`.checkins`, :mod:`.visits`),
its OpenAPI document, and the web consoles (:mod:`.console`). Routes parse and render; the
services below decide and write."""
