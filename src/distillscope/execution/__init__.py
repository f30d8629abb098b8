"""How calls are executed beyond the driver's own asyncio loop: Ray actors for compute models (`ray_host`) and
provider batch APIs (`batch`). The `Model` facade on the driver keeps the cache, budget, limits and retries."""
