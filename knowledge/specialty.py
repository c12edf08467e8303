"""Guesses a specialty for a document so that retrieval can be filtered by department.

Keywords in the title win (they name the condition); then the text's first part; then the publisher
(NCI pages are oncology, NINDS neurology...). An explicit specialty in the data always wins over this.
"""

from __future__ import annotations

import re

_KEYWORDS: dict[str, tuple[str, ...]] = {
    "oncology": ("cancer", "tumor", "tumour", "carcinoma", "leukemia", "lymphoma", "melanoma", "sarcoma",
                 "myeloma", "chemotherapy", "radiotherapy", "radiation therapy", "neoplasm", "blastoma"),
    "cardiology": ("heart", "cardiac", "coronary", "arrhythmia", "atrial", "hypertension", "blood pressure",
                   "angina", "cardiomyopathy", "aortic", "vascular", "cholesterol"),
    "pulmonology": ("lung", "asthma", "copd", "pulmonary", "respiratory", "bronch", "breathing",
                    "sleep apnea"),
    "neurology": ("brain", "nerve", "neuro", "stroke", "epilep", "seizure", "dementia", "alzheimer",
                  "parkinson", "sclerosis", "spinal", "migraine", "headache", "palsy", "ataxia", "dystrophy"),
    "endocrinology": ("diabetes", "thyroid", "insulin", "hormone", "pituitary", "adrenal", "obesity",
                      "metabolic", "endocrine"),
    "gastroenterology": ("liver", "hepat", "bowel", "colon", "stomach", "digest", "gastro", "celiac",
                         "pancrea", "esophag", "constipation", "diarrhea", "crohn", "colitis", "gallstone"),
    "nephrology": ("kidney", "renal", "dialysis", "urinary", "bladder", "prostate", "incontinence", "urolog"),
    "dermatology": ("skin", "rash", "eczema", "psoriasis", "dermat", "acne", "wound", "pemphigus"),
    "infectious disease": ("infection", "virus", "viral", "bacteria", "hiv", "hepatitis", "influenza", "flu",
                           "vaccine", "tuberculosis", "malaria", "parasit"),
    "mental health": ("depression", "anxiety", "mental", "schizophrenia", "bipolar", "psychiatr", "suicide"),
    "musculoskeletal": ("bone", "joint", "arthritis", "osteopor", "muscle", "back pain", "fracture"),
    "ophthalmology": ("eye", "vision", "glaucoma", "cataract", "retina", "macular"),
    "haematology": ("anemia", "anaemia", "blood clot", "hemophilia", "platelet", "sickle cell", "thrombo"),
    "radiology": ("ct scan", "mri", "x-ray", "imaging", "ultrasound", "contrast"),
    "surgery": ("surgery", "surgical", "operation", "incision", "stitches", "post-operative",
                "postoperative"),
}  # fmt: skip

_SOURCE_DEFAULT = {
    "cancergov": "oncology",
    "ninds": "neurology",
    "nhlbi": "cardiology",
}

_PATTERNS = {
    name: re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")", re.IGNORECASE)
    for name, words in _KEYWORDS.items()
}


def _best(text: str) -> str:
    counts = {name: len(p.findall(text)) for name, p in _PATTERNS.items()}
    name, hits = max(counts.items(), key=lambda kv: kv[1])
    return name if hits else ""


def guess_specialty(title: str, text: str, source: str = "") -> str:
    """The most likely specialty, or '' when nothing points anywhere."""
    return _best(title) or _SOURCE_DEFAULT.get(source.lower(), "") or _best(text[:2000])
