"""LLM access for augmentation: an OpenAI-protocol client with retries, repair and an
on-disk answer cache (`client`, `cache`), its settings (`settings`), and a local
OpenAI-compatible server over SmolLM2-135M-Instruct that runs when no endpoint is
configured (`server`, started by `local.endpoint`). Import the modules you need; this
package file stays light."""
