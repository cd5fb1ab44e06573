"""LLMRec (Wei et al., WSDM 2024): LLM-augmented graph recommendation over the recommendation
core's LightGCN, with any OpenAI-compatible LLM (`plexus.llm`).

    algorithm.py   Config and run: the method top to bottom
    candidates.py  top-k unseen items per user from a LightGCN trained on the training split
    prompts.py     the three prompt templates (templates/*.txt), JSON schemas, answer parsers
    augment.py     implicit feedback -> BPR triples; item attributes and user profiles as
                   text, embedded; artefacts under artifacts/augmentation/
    model.py       LightGCN with projected side features added at the paper's rates
    denoise.py     pruning of augmented triples and MAE masking with the SCE loss
    training.py    one epoch: BPR + sampled augmented triples, regularisers, reconstruction
    bench.py       `plexus bench llmrec`: LightGCN, + text, + u-i, + profiles/attributes,
                   LLMRec and its ablations from one augmentation
"""

from plexus.methods.spec import MethodSpec

METHODS = [
    MethodSpec("llmrec", "plexus.methods.llmrec.algorithm", "Wei et al., WSDM 2024",
               "recommendation (LLM-augmented collaborative filtering)", ("interactions", "item_text"),
               "plexus.methods.llmrec.bench:bench"),
]
