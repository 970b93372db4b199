"""Video data: TFRecord schema, builder, clip pipelines, synthetic dataset."""
