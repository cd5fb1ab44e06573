"""Entity classes of the unseen KGs for entity classification.

UMLS: the 135 entities of this KG are the semantic types of the UMLS Semantic Network, and
their class is the semantic group McCray et al. (Medinfo 2001, "Aggregating UMLS semantic
types for reducing conceptual complexity"; NLM's SemGroups.txt) put them in: 15 groups.
Types that later Semantic Network releases merged away (carbohydrate, lipid, steroid,
eicosanoid, alga, invertebrate, rickettsia or chlamydia, ...) keep the group they had in
the release this KG comes from. GEOG holds one type only (geographic area), so in a
20/20/60 split it lands in exactly one part.
"""

from __future__ import annotations

from plexus.errors import InputError

UMLS_GROUPS: dict[str, tuple[str, ...]] = {
    "ACTI": ("activity", "behavior", "daily_or_recreational_activity", "event", "governmental_or_regulatory_activity",
             "individual_behavior", "machine_activity", "occupational_activity", "social_behavior"),
    "ANAT": ("anatomical_structure", "body_location_or_region", "body_part_organ_or_organ_component",
             "body_space_or_junction", "body_substance", "body_system", "cell", "cell_component",
             "embryonic_structure", "fully_formed_anatomical_structure", "tissue"),
    "CHEM": ("amino_acid_peptide_or_protein", "antibiotic", "biologically_active_substance",
             "biomedical_or_dental_material", "carbohydrate", "chemical", "chemical_viewed_functionally",
             "chemical_viewed_structurally", "clinical_drug", "eicosanoid", "element_ion_or_isotope", "enzyme",
             "hazardous_or_poisonous_substance", "hormone", "immunologic_factor",
             "indicator_reagent_or_diagnostic_aid", "inorganic_chemical", "lipid",
             "neuroreactive_substance_or_biogenic_amine", "nucleic_acid_nucleoside_or_nucleotide",
             "organic_chemical", "organophosphorus_compound", "pharmacologic_substance", "receptor", "steroid",
             "vitamin"),
    "CONC": ("classification", "conceptual_entity", "functional_concept", "group_attribute", "idea_or_concept",
             "intellectual_product", "language", "qualitative_concept", "quantitative_concept",
             "regulation_or_law", "spatial_concept", "temporal_concept"),
    "DEVI": ("drug_delivery_device", "medical_device", "research_device"),
    "DISO": ("acquired_abnormality", "anatomical_abnormality", "cell_or_molecular_dysfunction",
             "congenital_abnormality", "disease_or_syndrome", "experimental_model_of_disease", "finding",
             "injury_or_poisoning", "mental_or_behavioral_dysfunction", "neoplastic_process",
             "pathologic_function", "sign_or_symptom"),
    "GENE": ("amino_acid_sequence", "carbohydrate_sequence", "gene_or_genome", "molecular_sequence",
             "nucleotide_sequence"),
    "GEOG": ("geographic_area",),
    "LIVB": ("age_group", "alga", "amphibian", "animal", "archaeon", "bacterium", "bird", "family_group", "fish",
             "fungus", "group", "human", "invertebrate", "mammal", "organism", "patient_or_disabled_group", "plant",
             "population_group", "professional_or_occupational_group", "reptile", "rickettsia_or_chlamydia",
             "vertebrate", "virus"),
    "OBJC": ("entity", "food", "manufactured_object", "physical_object", "substance"),
    "OCCU": ("biomedical_occupation_or_discipline", "occupation_or_discipline"),
    "ORGA": ("health_care_related_organization", "organization", "professional_society",
             "self_help_or_relief_organization"),
    "PHEN": ("biologic_function", "environmental_effect_of_humans", "human_caused_phenomenon_or_process",
             "laboratory_or_test_result", "natural_phenomenon_or_process", "phenomenon_or_process"),
    "PHYS": ("cell_function", "clinical_attribute", "genetic_function", "mental_process", "molecular_function",
             "organism_attribute", "organism_function", "organ_or_tissue_function", "physiologic_function"),
    "PROC": ("diagnostic_procedure", "educational_activity", "health_care_activity", "laboratory_procedure",
             "molecular_biology_research_technique", "research_activity", "therapeutic_or_preventive_procedure"),
}
GROUP_NAMES = sorted(UMLS_GROUPS)


def umls_classes(entity_ids: list[str]) -> tuple[list[int], list[str]]:
    """(class index of each entity, class names) — every entity must have a group."""
    group_of = {t: g for g, types in UMLS_GROUPS.items() for t in types}
    missing = [e for e in entity_ids if e not in group_of]
    if missing:
        raise InputError(f"UMLS entities without a semantic group: {', '.join(missing[:10])}"
                         f"{' ...' if len(missing) > 10 else ''} (plexus.methods.jaket.downstream.categories).")
    return [GROUP_NAMES.index(group_of[e]) for e in entity_ids], GROUP_NAMES
