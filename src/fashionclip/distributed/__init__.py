"""The same embed-and-index pipeline on a cluster engine (Ray Data), never a home-made cluster."""

from fashionclip.distributed.ray_index import ModelRef, RayOptions, index_catalog_ray, model_ref

__all__ = ["ModelRef", "RayOptions", "index_catalog_ray", "model_ref"]
