"""Local fakes of the Hetzner Cloud, Cloudflare and Infisical APIs.

Each fake is an HTTPS server on loopback, built on common.Fake, that
answers like the real service as documented in the shared API
reference (FACTS.md, the OpenAPI excerpt and the example payloads).
None of them can reach a real cloud.  See common.py for the parts
they share: routing, errors, rate budgets, faults and the request log.
"""
