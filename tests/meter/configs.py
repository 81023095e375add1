"""Meter configs the meter tests share: the seed's own two, a family household, and the
Config object of a raw dict."""

from meter import config

BERLIN = {"latitude": 52.52, "longitude": 13.40, "country": "DE"}
AUCKLAND = {"latitude": -36.85, "longitude": 174.76, "country": "NZ"}

# The seed's own configs (simongarton/meters), as meters in the field have them.
SEED_MACBOOK = {
    "interval_min": 5, "serial": "macbook-pro", "tempest_url": "http://192.168.86.51:8002/",
    "tempest_api_key": "12345", "demo": False, "display": None, "model": "macbook-pro",
    "profile": {"0": 0.021, "1": 0.039, "2": 0.068, "3": 0.134, "4": 0.281, "5": 0.482,
                "6": 0.579, "7": 1.059, "8": 1.624, "9": 1.357, "10": 2.33, "11": 1.952,
                "12": 3.266, "13": 2.195, "14": 1.813, "15": 2.073, "16": 1.436, "17": 1.089,
                "18": 0.982, "19": 0.597, "20": 0.297, "21": 0.161, "22": 0.091, "23": 0.074},
    "variability": 0.1, "missing_data": 0, "excessive_data": 0.001,
    "channels": {"Total": 1.0, "Main": 0.6, "Sub1": 0.1, "Sub2": 0.3},
}
SEED_KILI = {
    "interval_min": 5, "serial": "kili", "tempest_url": "http://192.168.86.34:8002/",
    "profile": {str(h): v for h, v in enumerate(
        [1, 2, 1, 2, 1, 2, 3, 5, 6, 5, 4, 3, 4, 4, 3, 4, 3, 4, 5, 6, 7, 4, 3, 2])},
    "variability": 0.1,
    "channels": {"Total": 1.0, "House": 0.6, "Garden": 0.1, "Shed": 0.3, "Wind": 0.5},
}


def family(**extra) -> dict:
    raw = {"serial": "fam-1", "archetype": "family", "timezone": "Europe/Berlin",
           "location": BERLIN, "commissioned": "2024-01-01",
           "channels": {"Total": 1.0, "Main": 0.7, "Sub1": 0.3}}
    raw.update(extra)
    return raw


def cfg_of(raw: dict) -> config.Config:
    return config.from_dict(raw)
