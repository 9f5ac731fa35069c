"""hetzner_catalog.py: the fixed things a Hetzner project can order.

Locations, server types (with per-location prices and availability)
and system images, shaped like the objects of the official OpenAPI
spec.  Names follow FACTS.md 1.11 (the Oct-2025 generation: cx23,
cpx22, cpx32...).  Prices and hardware figures are plausible, not
quoted; the runbook's "cpx32: 4 vCPU, 8 GB RAM, 160 GB" is kept.
"""

from decimal import Decimal

VAT = Decimal("1.19")
TB = 1 << 40

# id, name, description, country, city, latitude, longitude, zone
_LOCATIONS = [
    (1, "fsn1", "Falkenstein DC Park 1", "DE", "Falkenstein",
     50.47612, 12.370071, "eu-central"),
    (2, "nbg1", "Nuremberg DC Park 1", "DE", "Nuremberg",
     49.452102, 11.076665, "eu-central"),
    (3, "hel1", "Helsinki DC Park 1", "FI", "Helsinki",
     60.169855, 24.938379, "eu-central"),
    (4, "ash", "Ashburn, VA", "US", "Ashburn, VA",
     39.045821, -77.487073, "us-east"),
    (5, "hil", "Hillsboro, OR", "US", "Hillsboro, OR",
     45.54222, -122.951924, "us-west"),
    (6, "sin", "Singapore", "SG", "Singapore",
     1.283333, 103.833333, "ap-southeast"),
]

# Traffic included per month, by network zone.
_TRAFFIC = {"eu-central": 20 * TB, "us-east": 1 * TB, "us-west": 1 * TB,
            "ap-southeast": TB // 2}

EU = ("fsn1", "nbg1", "hel1")
ALL = tuple(loc[1] for loc in _LOCATIONS)

# id, name, cores, memory GB, disk GB, cpu_type, monthly net EUR,
# locations where it can be ordered
_SERVER_TYPES = [
    (104, "cx23", 2, 4, 40, "shared", "3.49", EU),
    (113, "cpx22", 2, 4, 80, "shared", "6.49", ALL),
    (114, "cpx32", 4, 8, 160, "shared", "11.99", ALL),
    (115, "cpx42", 8, 16, 320, "shared", "22.49", ALL),
    (96, "ccx13", 2, 8, 80, "dedicated", "14.09", ALL),
]

# id, name, description, os_flavor, os_version, created
_IMAGES = [
    (161547269, "ubuntu-24.04", "Ubuntu 24.04", "ubuntu", "24.04",
     "2024-04-25T11:04:04Z"),
    (67794396, "ubuntu-22.04", "Ubuntu 22.04", "ubuntu", "22.04",
     "2022-04-21T15:32:38Z"),
    (114690387, "debian-12", "Debian 12", "debian", "12",
     "2023-06-13T06:00:02Z"),
]


def _money(net):
    """A {net, gross} pair as the spec writes decimals: strings."""
    net = Decimal(net)
    gross = (net * VAT).quantize(Decimal("1e-16"))
    return {"net": format(net, ".10f"), "gross": format(gross, ".16f")}


def location(name):
    """The Location object called name, or None."""
    for lid, lname, desc, country, city, lat, lon, zone in _LOCATIONS:
        if lname == name:
            return {"id": lid, "name": lname, "description": desc,
                    "country": country, "city": city, "latitude": lat,
                    "longitude": lon, "network_zone": zone}
    return None


def locations():
    """Every Location object, by id."""
    return [location(loc[1]) for loc in _LOCATIONS]


def _prices(monthly, where):
    """The prices list of a server type: one entry per location."""
    hourly = (Decimal(monthly) / 730).quantize(Decimal("1e-4"))
    out = []
    for name in where:
        zone = location(name)["network_zone"]
        out.append({"location": name,
                    "price_hourly": _money(hourly),
                    "price_monthly": _money(monthly),
                    "included_traffic": _TRAFFIC[zone],
                    "price_per_tb_traffic": _money("1.00")})
    return out


def server_type(name):
    """The ServerType object called name, or None."""
    for tid, tname, cores, mem, disk, cpu, monthly, where in _SERVER_TYPES:
        if tname != name:
            continue
        return {"id": tid, "name": tname, "description": tname.upper(),
                "cores": cores, "memory": mem, "disk": disk,
                "deprecated": False, "prices": _prices(monthly, where),
                "storage_type": "local", "cpu_type": cpu,
                "architecture": "x86", "deprecation": None,
                "locations": [
                    {"id": location(n)["id"], "name": n,
                     "deprecation": None, "available": True,
                     "recommended": n in EU}
                    for n in where]}
    return None


def server_types():
    """Every ServerType object, by id."""
    return sorted((server_type(t[1]) for t in _SERVER_TYPES),
                  key=lambda t: t["id"])


def image(name):
    """The Image object called name, or None."""
    for iid, iname, desc, flavor, version, created in _IMAGES:
        if iname == name:
            return {"id": iid, "type": "system", "status": "available",
                    "name": iname, "description": desc,
                    "image_size": None, "disk_size": 5,
                    "created": created, "created_from": None,
                    "bound_to": None, "os_flavor": flavor,
                    "os_version": version, "rapid_deploy": True,
                    "protection": {"delete": False}, "deprecated": None,
                    "deleted": None, "labels": {}, "architecture": "x86"}
    return None


def find(kind, ref):
    """Look ref up (an id, a digit string or a name) among kind.

    kind is "location", "server_type" or "image".  None when unknown.
    """
    table = {"location": (_LOCATIONS, location),
             "server_type": (_SERVER_TYPES, server_type),
             "image": (_IMAGES, image)}[kind]
    rows, build = table
    for row in rows:
        if ref == row[1] or str(ref) == str(row[0]):
            return build(row[1])
    return None
