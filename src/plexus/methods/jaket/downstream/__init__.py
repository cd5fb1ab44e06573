"""JAKET downstream tasks: fine-tuning from a pretraining run directory (`pretrained=RUN_DIR`)
or from the released LM (the baselines), registered in `plexus.methods.jaket` as

    fewrel.py                 `jaket-fewrel`: few-shot relation classification (FewRel 1.0)
    entity_classification.py  `jaket-entity`: entity classification on an unseen KG (UMLS)
    link_prediction.py        `jaket-link`: link prediction on an unseen KG (filtered MRR)

and their parts:

    common.py       model source (JAKET / LM + GNN / LM alone), unseen-KG memories and encoders
    episodes.py     N-way K-shot episode sampler, prototypical classifier, episode accuracy
    fewrel_data.py  FewRel relation split, leakage filter against pretraining, token spans
    categories.py   entity classes: UMLS semantic groups
"""
