"""The config schema: a default for every key, validation, and unpacking.

Every recipe starts from `default_config()`, whose values are the settings
the original's recipes share (8 GPUs, 400k iterations, R50, 224 crops,
30-view test); a recipe changes what its script changed. Keys mirror the
original's `lib/core/config.py` where they still mean something (the key it
came from is in the comment); the original's dead keys (`STRIDE_1X1`,
`TEST.VIDEO_LENGTH`, `MEM_CACHE`, ...) are gone.

Entry points call `validate()` once and then unpack the config into plain
arguments with `model_kwargs()` and friends: library code never sees it.
"""

import ml_collections

from nlkeras.data import builder, processors, views
from nlkeras.layers import non_local_block
from nlkeras.layers.batch_normalization import BN_EPSILON
from nlkeras.models import specs
from nlkeras.training import schedule

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
STRATEGIES = ("auto", "mirrored", "multi_worker", "tpu", "one_device")


def default_config():
    """The schema, holding the original recipes' shared settings."""
    c = ml_collections.ConfigDict()
    c.recipe = ""
    c.seed = 0  # RNG_SEED (the original seeded numpy only)
    c.log_period = 10  # LOG_PERIOD
    c.mixed_precision = "float32"
    c.distribution = ml_collections.ConfigDict(
        dict(
            strategy="auto",  # mirrored over local GPUs, multi-worker with TF_CONFIG
            tpu="",
            sync_batchnorm=False,  # the original: per-GPU BN statistics
        )
    )
    c.model = ml_collections.ConfigDict(
        dict(
            arch="c2d",  # VIDEO_ARC_CHOICE 1/3 -> c2d, 2/4 -> i3d
            depth=50,  # DEPTH
            variant="resnet_video",  # MODEL_NAME
            num_classes=400,  # NUM_CLASSES; 0 = from the data (resolve_num_classes)
            frozen_bn=False,  # USE_AFFINE
            bn_epsilon=BN_EPSILON,  # BN_EPSILON
            bn_momentum=0.9,  # BN_MOMENTUM
            bn_init_gamma=0.0,  # BN_INIT_GAMMA (branch2c)
            # Training BN statistics over groups of this many clips of a replica's batch
            # (the original: each GPU's TRAIN.BATCH_SIZE / NUM_GPUS); 0 = the whole batch.
            bn_batch_size=0,
            fc_init_std=0.01,  # FC_INIT_STD
            dropout_rate=0.5,  # TRAIN.DROPOUT_RATE
            width=64,  # RESNETS.WIDTH_PER_GROUP
            stage_blocks=(),  # () = from depth; smaller members of the family
        )
    )
    c.non_local = ml_collections.ConfigDict(
        dict(
            stages=(),  # CONV3_NONLOCAL / CONV4_NONLOCAL -> (3, 4)
            layer_mod=2,  # LAYER_MOD
            mode="embedded_gaussian",  # USE_SOFTMAX True; False = dot_product
            scale=True,  # USE_SCALE
            subsample=True,  # USE_MAXPOOL
            pool_before_conv=True,  # Caffe2 order; False = MMAction2's
            use_bn=True,  # USE_BN
            zero_init_output=False,  # USE_ZERO_INIT_CONV
            res3_group_size=0,  # grouped res3 blocks of the frozen-BN recipes
            conv_init_std=0.01,  # CONV_INIT_STD
            bn_epsilon=BN_EPSILON,  # BN_EPSILON
            bn_momentum=0.9,  # BN_MOMENTUM
        )
    )
    c.data = ml_collections.ConfigDict(
        dict(
            train_files="",  # DATADIR/train, as TFRecord glob patterns
            val_files="",
            test_files="",
            num_frames=8,  # TRAIN.VIDEO_LENGTH (all splits, as the original)
            sample_rate=8,  # TRAIN.SAMPLE_RATE
            crop_size=224,  # TRAIN.CROP_SIZE
            jitter_scales=(256, 320),  # TRAIN.JITTER_SCALES
            flip_prob=0.5,  # mirror=1 of the video input op
            mean=processors.MEAN,  # MODEL.MEAN
            std=processors.STD,  # MODEL.STD
            use_bgr=False,  # MODEL.USE_BGR
            shuffle_buffer=1024,
            # Skip the rest of a shard at a damaged record (counted in log.jsonl)
            # instead of stopping with an error naming the shard.
            skip_corrupt_records=False,
            synthetic_dir="",  # generate the synthetic set here when train_files is missing
            synthetic_classes="demo",  # its class set (nlkeras.data.synthetic.CLASS_SETS)
        )
    )
    c.train = ml_collections.ConfigDict(
        dict(
            batch_size=64,  # TRAIN.BATCH_SIZE, global
            # The batch base_lr is tuned for: a recipe that changes batch_size sets both;
            # an override of batch_size alone scales the LR linearly.
            reference_batch_size=64,
            tuned_replicas=8,  # NUM_GPUS the recipe was tuned for
            eval_period=20000,  # TRAIN.EVAL_PERIOD
            precise_bn=True,  # TRAIN.COMPUTE_PRECISE_BN
            precise_bn_iters=200,  # TRAIN.ITER_COMPUTE_PRECISE_BN
            init_weights="",  # TRAIN.PARAMS_FILE
            init_from="imagenet_r50",  # what init_weights holds, for the runbook
            # Fine-tuning: `pred` keeps its fresh init even when init_weights has one
            # of the same shape, as modify_blob_rm.py drops it.
            reinit_classifier=False,
            test_after_train=True,  # TRAIN.TEST_AFTER_TRAIN
        )
    )
    c.test = ml_collections.ConfigDict(
        dict(
            # Views in one model call per device (the original: TEST.BATCH_SIZE /
            # NUM_GPUS = 8). A 8x256x256 I3D-NL R50 view holds about 0.12 GiB of
            # activations at test time: 30 views (one whole 3-crop video) ~3.6 GiB.
            views_per_batch=30,
            scale=256,  # TEST.SCALE
            num_clips=10,  # NUM_TEST_CLIPS / 3
            flip=False,  # TEST_FULLY_CONV_FLIP
            protocol="three_crop",  # USE_MULTI_CROP 1: 3 crops; or the paper's full_frame
        )
    )
    c.solver = ml_collections.ConfigDict(
        dict(
            base_lr=0.01,  # BASE_LR
            lr_policy="steps_with_relative_lrs",  # LR_POLICY
            step_sizes=(150000, 150000, 100000),  # STEP_SIZES
            lrs=(1.0, 0.1, 0.01, 0.001),  # LRS
            gamma=0.1,  # GAMMA (steps_with_decay)
            max_iter=400000,  # MAX_ITER
            momentum=0.9,  # MOMENTUM
            nesterov=True,  # NESTEROV
            scale_momentum=True,  # SCALE_MOMENTUM
            weight_decay=1e-4,  # WEIGHT_DECAY
            weight_decay_bn=0.0,  # WEIGHT_DECAY_BN
            warmup=False,  # WARMUP.WARMUP_ON
            warmup_start_lr=0.001,  # WARMUP.WARMUP_START_LR
            warmup_end_iter=2000,  # WARMUP.WARMUP_END_ITER
        )
    )
    c.checkpoint = ml_collections.ConfigDict(
        dict(
            period=10000,  # CHECKPOINT_PERIOD
            resume=True,  # CHECKPOINT.RESUME
            keep=5,
        )
    )
    c.paper = ml_collections.ConfigDict(
        dict(
            script="",  # the original's scripts/*.sh
            model_file="",  # released .pkl, without the extension
            top1=0.0,  # README, 30-view test
            top5=0.0,
        )
    )
    return c


def _check_choice(value, choices, key):
    if value not in choices:
        raise ValueError(f"config.{key} must be one of {choices}. Received: {value!r}")


def validate(config):
    """Raises `ValueError` naming the key when values do not fit together."""
    _check_choice(config.model.arch, specs.ARCHS, "model.arch")
    _check_choice(config.model.depth, tuple(specs.STAGE_BLOCKS), "model.depth")
    _check_choice(config.model.variant, tuple(specs.VARIANTS), "model.variant")
    _check_choice(config.non_local.mode, non_local_block.MODES, "non_local.mode")
    _check_choice(config.mixed_precision, PRECISIONS, "mixed_precision")
    _check_choice(config.distribution.strategy, STRATEGIES, "distribution.strategy")
    _check_choice(config.solver.lr_policy, schedule.POLICIES, "solver.lr_policy")
    _check_choice(config.test.protocol, views.PROTOCOLS, "test.protocol")
    blocks = config.model.stage_blocks
    if blocks and (len(blocks) != 4 or min(blocks) < 1):
        raise ValueError(
            f"config.model.stage_blocks must be () or 4 positive ints. Received: {blocks}"
        )
    if not set(config.non_local.stages) <= {2, 3, 4, 5}:
        raise ValueError(
            "config.non_local.stages must be a subset of (2, 3, 4, 5). "
            f"Received: {config.non_local.stages}"
        )
    low, high = config.data.jitter_scales
    if not config.data.crop_size <= low <= high:
        raise ValueError(
            "config.data.jitter_scales must satisfy crop_size <= min <= max. "
            f"Received: jitter_scales={config.data.jitter_scales}, "
            f"crop_size={config.data.crop_size}"
        )
    shape = geometry(config)
    frames = shape.res3_frames(config.data.num_frames)  # res3 to res5 share this length
    if not shape.frames_fit(config.data.num_frames):
        raise ValueError(
            f"config.non_local.res3_group_size={shape.res3_group_size} must divide the "
            f"{frames} frames of res3 ({config.data.num_frames}-frame clips)."
        )
    if frames < 1:
        raise ValueError(
            f"config.data.num_frames={config.data.num_frames} leaves no frame at res5."
        )
    per_clip = views.TestViews(protocol=config.test.protocol, flip=config.test.flip).views_per_clip
    if config.test.views_per_batch < per_clip:
        raise ValueError(
            f"config.test.views_per_batch={config.test.views_per_batch} must hold at least the "
            f"{per_clip} views of one clip (test.protocol={config.test.protocol!r}, "
            f"test.flip={config.test.flip})."
        )
    if len(config.solver.lrs) < len(config.solver.step_sizes):
        raise ValueError(
            "config.solver.lrs needs one value per step (len(step_sizes)). "
            f"Received: lrs={config.solver.lrs}, step_sizes={config.solver.step_sizes}"
        )
    # Past the last step the original reads LRS[len(STEP_SIZES)], or fails without it
    # (§5.1 of docs/original-semantics.md).
    s = config.solver
    past_steps = s.max_iter > sum(s.step_sizes) and s.lr_policy != "steps_with_decay"
    if past_steps and len(s.lrs) <= len(s.step_sizes):
        raise ValueError(
            f"config.solver.max_iter={s.max_iter} runs past the last step "
            f"(sum(step_sizes)={sum(s.step_sizes)}), whose LR is lrs[{len(s.step_sizes)}]: "
            f"add that value. Received: lrs={s.lrs}, step_sizes={s.step_sizes}"
        )
    if config.train.batch_size % config.train.tuned_replicas:
        raise ValueError(
            f"config.train.batch_size={config.train.batch_size} must divide by "
            f"config.train.tuned_replicas={config.train.tuned_replicas}."
        )
    ghost = config.model.bn_batch_size
    if ghost < 0 or (ghost and config.train.batch_size % ghost):
        # Each replica's batch must divide too: its BN layers check that when they run.
        raise ValueError(
            f"config.model.bn_batch_size={ghost} must be 0 or divide "
            f"config.train.batch_size={config.train.batch_size}."
        )
    if ghost and config.distribution.sync_batchnorm:
        raise ValueError(
            f"config.model.bn_batch_size={ghost} needs config.distribution.sync_batchnorm=False."
        )
    return config


def resolve_num_classes(config):
    """Sets `model.num_classes` 0 ("from the data") to the count in the builder's summaries.

    The training split's (`data.train_files`), else the test split's, for an
    evaluation or export where the training shards are not at hand: one more
    than the largest id in the `<split>.summary.json` beside the shards.
    Returns the config; a `ValueError` if neither split has a summary.
    """
    if config.model.num_classes:
        return config
    count = builder.num_classes(builder.first_summaries(split_patterns(config)))
    if count:
        config.model.num_classes = count
        return config
    raise ValueError(
        "config.model.num_classes=0 takes the class count from the builder summary "
        "(<split>.summary.json beside the shards) of data.train_files or data.test_files, "
        f"but neither {config.data.train_files!r} nor {config.data.test_files!r} has one: "
        "build the shards with tools.build_tfrecords, or set --config.model.num_classes."
    )


def split_patterns(config):
    """The training, then the test split's TFRecord patterns: where summaries are read."""
    return (config.data.train_files, config.data.test_files)


def geometry(config):
    """The recipe's `specs.Geometry`: what its model does to a clip's size."""
    m, nl = config.model, config.non_local
    spec = specs.backbone_kwargs(
        m.arch,
        m.depth,
        m.variant,
        non_local_stages=tuple(nl.stages),
        non_local_layer_mod=nl.layer_mod,
        non_local_res3_group_size=nl.res3_group_size,
        stage_blocks=tuple(m.stage_blocks),
    )
    return specs.Geometry.of(spec)


def model_kwargs(config):
    """Plain arguments of `nlkeras.models.build_classifier`."""
    m, nl = config.model, config.non_local
    return dict(
        arch=m.arch,
        depth=m.depth,
        variant=m.variant,
        num_classes=m.num_classes,
        num_frames=config.data.num_frames,
        crop_size=config.data.crop_size,
        dropout=m.dropout_rate,
        fc_init_std=m.fc_init_std,
        stage_blocks=tuple(m.stage_blocks),
        width=m.width,
        frozen_bn=m.frozen_bn,
        bn_epsilon=m.bn_epsilon,
        bn_momentum=m.bn_momentum,
        bn_init_gamma=m.bn_init_gamma,
        sync_batchnorm=config.distribution.sync_batchnorm,
        bn_batch_size=m.bn_batch_size,
        non_local_stages=tuple(nl.stages),
        non_local_layer_mod=nl.layer_mod,
        non_local_res3_group_size=nl.res3_group_size,
        non_local=dict(
            mode=nl.mode,
            scale=nl.scale,
            subsample=nl.subsample,
            pool_before_conv=nl.pool_before_conv,
            use_bn=nl.use_bn,
            zero_init_output=nl.zero_init_output,
            kernel_init_std=nl.conv_init_std,
            bn_epsilon=nl.bn_epsilon,
            bn_momentum=nl.bn_momentum,
        ),
    )


def train_data_kwargs(config):
    """Plain arguments of `nlkeras.data.pipelines.train_dataset` (after the files)."""
    d = config.data
    return dict(
        batch_size=config.train.batch_size,
        num_frames=d.num_frames,
        sample_rate=d.sample_rate,
        crop_size=d.crop_size,
        jitter_scales=tuple(d.jitter_scales),
        flip_prob=d.flip_prob,
        mean=d.mean,
        std=d.std,
        use_bgr=d.use_bgr,
        shuffle_buffer=d.shuffle_buffer,
        seed=config.seed,
    )


def eval_data_kwargs(config):
    """Plain arguments of `nlkeras.data.pipelines.eval_dataset` (after the files)."""
    protocol = test_protocol_kwargs(config)
    return dict(batch_size=protocol.pop("views_per_batch"), **protocol)


def test_protocol_kwargs(config):
    """The test protocol as plain arguments of `nlkeras.data.views.TestViews`."""
    d, t = config.data, config.test
    return dict(
        protocol=t.protocol,
        num_frames=d.num_frames,
        sample_rate=d.sample_rate,
        num_clips=t.num_clips,
        scale=t.scale,
        flip=t.flip,
        mean=d.mean,
        std=d.std,
        use_bgr=d.use_bgr,
        views_per_batch=t.views_per_batch,
    )
