"""Synthetic Biên Hòa: deterministic venues, people, check-in visits and a planted outbreak.

It is the demo data, the tests' ground truth and the benchmarks' load source, so it must be
fast (vectorised numpy, millions of scans per second), exactly reproducible for a seed
(independent random streams per concern and per day) and honest about the truth (expected
contacts are computed by brute force over every written visit, not assumed from the plan).
"""

from storage.synthetic_city.city import City, People, Venues, build_city
from storage.synthetic_city.config import GENERATOR_VERSION, CityConfig
from storage.synthetic_city.describe import CityDescription, describe_city, venue_names
from storage.synthetic_city.errors import CityConfigError, CityOutputError, SyntheticCityError
from storage.synthetic_city.names import PERSON_REF_BASE, person_reference
from storage.synthetic_city.outbreak import OutbreakPlan, plant_outbreak
from storage.synthetic_city.render import render_description
from storage.synthetic_city.truth import OutbreakTruth, TruthCollector
from storage.synthetic_city.visits import VisitBatch, iter_visit_batches
from storage.synthetic_city.writer import CitySummary, write_city

__all__ = [
    "GENERATOR_VERSION",
    "PERSON_REF_BASE",
    "City",
    "CityConfig",
    "CityConfigError",
    "CityDescription",
    "CityOutputError",
    "CitySummary",
    "OutbreakPlan",
    "OutbreakTruth",
    "People",
    "SyntheticCityError",
    "TruthCollector",
    "Venues",
    "VisitBatch",
    "build_city",
    "describe_city",
    "iter_visit_batches",
    "person_reference",
    "plant_outbreak",
    "render_description",
    "venue_names",
    "write_city",
]
