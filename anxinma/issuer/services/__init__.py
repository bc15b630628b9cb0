"""The issuer's middle floor: the services, one module a job, each deciding and writing
under the caller's :class:`~anxinma.issuer.services.scope.Scope` in the audited transaction of
:mod:`~anxinma.issuer.services.context`; :mod:`~anxinma.issuer.services.issuer` composes
them. They import the store below, never the web above."""
