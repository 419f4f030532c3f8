"""Shared by scripts/privacy_attacks.py and scripts/privacy_tradeoff.py: a small client of a running escrow.

Python 3 standard library only. Organizations, populations, uploads (NDJSON with identifier hashes computed as in
docs/api.md), partnerships, the overlap matrix and the owner's privacy settings.
"""
import hashlib

from escrow_http import Api

PASSWORD = "privacy-bench-password-1"


def domain_hash(n):
    return hashlib.sha256(f"oe:v1:domain:account{n}.example".encode()).hexdigest()


def ndjson(prefix, accounts):
    """One record per account number, record ids unique within the upload, matched on the domain."""
    return "".join(f'{{"recordId":"{prefix}-{i:06d}","identifiers":{{"domain":"{domain_hash(n)}"}}}}\n'
                   for i, n in enumerate(accounts)).encode()


class Org:
    def __init__(self, host, port, slug):
        self.slug = slug
        signup = Api(host, port).call("POST", "/v1/signup", {
            "organizationName": slug.title(), "organizationSlug": slug, "email": f"admin@{slug}.example", "password": PASSWORD})
        self.api = Api(host, port, signup["tokens"]["accessToken"])

    def population(self, name, accounts=None, level=None, minimum=None):
        population = self.api.call("POST", "/v1/populations", {"name": name, "type": "customers"})["id"]
        if accounts is not None:
            self.upload(population, accounts)
        if level is not None:
            self.api.call("PUT", f"/v1/populations/{population}/sharing", {"level": level, "fields": [], "minimumCount": minimum})
        return population

    def upload(self, population, accounts, prefix="R"):
        self.api.call("PUT", f"/v1/populations/{population}/records", ndjson(prefix, accounts), "application/x-ndjson")

    def partner(self, other):
        """This organization invites the other, which accepts; returns the partnership id."""
        partnership = self.api.call("POST", "/v1/partnerships", {"partnerSlug": other.slug})["id"]
        other.api.call("POST", f"/v1/partnerships/{partnership}/accept")
        return partnership

    def matrix(self, partnership):
        """{(mine, theirs): cell} of the overlap matrix."""
        cells = self.api.call("GET", f"/v1/partnerships/{partnership}/overlaps")["cells"]
        return {(c["myPopulationId"], c["partnerPopulationId"]): c for c in cells}

    def privacy(self, partnership, settings=None):
        if settings is None:
            return self.api.call("GET", f"/v1/partnerships/{partnership}/privacy")
        return self.api.call("PUT", f"/v1/partnerships/{partnership}/privacy", settings)
