// Every setting of cv::patchcore::Params, declared once. Each row of PATCHCORE_PARAM_FIELDS is
//   X(kind, type, name, Python name, default, check on the value v, what the check requires, Python doc line)
// kind: MODEL fields define the detector and are saved and checked on load; RUN fields say how one process runs it
// and are never saved. params.cpp generates the defaults, read, write and per-field validation from it, the Python
// binding its Params fields; the public header documents each field (patchcore.hpp). Checks that relate two fields
// are in Params::validate(). The header has no includes: a row's default and check are compiled only where used.
#ifndef OPENCV_PATCHCORE_PARAMS_TABLE_HPP
#define OPENCV_PATCHCORE_PARAMS_TABLE_HPP

#define PATCHCORE_PARAM_FIELDS(X) \
    X(MODEL, String, modelPath, "model_path", String(),                                                              \
      true, "",                                                                                                      \
      "Path to the ONNX backbone (str or os.PathLike). Required.")                                                   \
    X(MODEL, Layers, layers, "layers", (Layers{"layer2", "layer3"}),                                                 \
      true, "",                                                                                                      \
      "Backbone outputs to tap, shallowest first (list of str; default ['layer2', 'layer3']). Assign a new "         \
      "list: the property returns a copy.")                                                                          \
    X(MODEL, int, resizeSize, "resize_size", 256,                                                                    \
      v <= 16384, "must be <= 16384",                                                                                \
      "Shorter image side after resizing (default 256).")                                                            \
    X(MODEL, int, cropSize, "crop_size", 224,                                                                        \
      v >= 1 && v <= 8192, "must be in [1, 8192]",                                                                   \
      "Side of the square centre crop fed to the backbone (default 224).")                                           \
    X(MODEL, int, resizeMethod, "resize_method", RESIZE_PIL_BILINEAR,                                                \
      v >= RESIZE_PIL_BILINEAR && v <= RESIZE_LINEAR, "must be a cv::patchcore::ResizeMethod",                       \
      "A RESIZE_* constant (default RESIZE_PIL_BILINEAR).")                                                          \
    X(MODEL, Scalar, mean, "mean", Scalar(0.485, 0.456, 0.406),                                                      \
      finite3(v), "must be finite",                                                                                  \
      "Per-channel mean subtracted after scaling to [0, 1], (R, G, B) (default ImageNet's).")                        \
    X(MODEL, Scalar, stdev, "stdev", Scalar(0.229, 0.224, 0.225),                                                    \
      positive3(v), "must be positive in every channel",                                                             \
      "Per-channel standard deviation, (R, G, B) (default ImageNet's).")                                             \
    X(MODEL, int, patchSize, "patch_size", 3,                                                                        \
      v >= 1 && v <= 15 && v % 2 == 1, "must be odd and in [1, 15]",                                                 \
      "Neighbourhood side of locally aware patch features (odd, default 3).")                                        \
    X(MODEL, int, pretrainEmbedDim, "pretrain_embed_dim", 1024,                                                      \
      v >= 1 && v <= 65536, "must be in [1, 65536]",                                                                 \
      "Dimension each tap is pooled to (default 1024).")                                                             \
    X(MODEL, int, targetEmbedDim, "target_embed_dim", 1024,                                                          \
      v >= 1 && v <= 65536, "must be in [1, 65536]",                                                                 \
      "Dimension of the final patch vector (default 1024).")                                                         \
    X(MODEL, int, coresetMethod, "coreset_method", CORESET_GREEDY,                                                   \
      v >= CORESET_GREEDY && v <= CORESET_NONE, "must be a cv::patchcore::CoresetMethod",                            \
      "A CORESET_* constant (default CORESET_GREEDY).")                                                              \
    X(MODEL, double, coresetRatio, "coreset_ratio", 0.1,                                                             \
      v > 0 && v <= 1, "must be in (0, 1]",                                                                          \
      "Fraction of patch vectors the coreset keeps, in (0, 1] (default 0.1).")                                       \
    X(MODEL, int, projectionDim, "projection_dim", 128,                                                              \
      v >= 0, "must be >= 0 (0 = no projection)",                                                                    \
      "Random projection dimension of greedy selection (default 128; 0 = none).")                                    \
    X(MODEL, int, numStarts, "num_starts", 10,                                                                       \
      v >= 1, "must be >= 1",                                                                                        \
      "Random start points of greedy selection (default 10).")                                                       \
    X(MODEL, int, k, "k", 1,                                                                                         \
      v >= 1, "must be >= 1",                                                                                        \
      "Nearest bank vectors averaged into a patch score (default 1).")                                               \
    X(MODEL, int, metric, "metric", DISTANCE_L2_SQUARED,                                                             \
      v == DISTANCE_L2_SQUARED || v == DISTANCE_L2, "must be a cv::patchcore::DistanceMetric",                       \
      "A DISTANCE_* constant (default DISTANCE_L2_SQUARED).")                                                        \
    X(MODEL, bool, reweight, "reweight", false,                                                                      \
      true, "",                                                                                                      \
      "Apply the paper's Eq. 7 image-score reweighting (default False).")                                            \
    X(MODEL, int, reweightNeighbours, "reweight_neighbours", 9,                                                      \
      v >= 1, "must be >= 1",                                                                                        \
      "Bank neighbourhood size b of Eq. 7 (default 9).")                                                             \
    X(MODEL, double, sigma, "sigma", 4.0,                                                                            \
      v >= 0 && v <= 1000, "must be in [0, 1000]",                                                                   \
      "Gaussian sigma of the anomaly map, in crop pixels (default 4).")                                              \
    X(MODEL, int, seed, "seed", 0,                                                                                   \
      true, "",                                                                                                      \
      "Seed of every random choice (default 0).")                                                                    \
    X(MODEL, int, coresetRandom, "coreset_random", RANDOM_OPENCV,                                                    \
      v == RANDOM_OPENCV || v == RANDOM_REFERENCE, "must be a cv::patchcore::CoresetRandom",                         \
      "A RANDOM_* constant (default RANDOM_OPENCV).")                                                                \
    X(MODEL, int, referenceDrawsBefore, "reference_draws_before", 0,                                                 \
      v >= 0, "must be >= 0",                                                                                        \
      "RANDOM_REFERENCE: torch draws before the projection (default 0; doc/PARITY.md).")                             \
    X(RUN, int, batchSize, "batch_size", 4,                                                                          \
      v >= 1 && v <= 1024, "must be in [1, 1024]",                                                                   \
      "Run setting: images pre-processed and embedded together (default 4).")                                        \
    X(RUN, int, backend, "backend", dnn::DNN_BACKEND_OPENCV,                                                         \
      true, "",                                                                                                      \
      "Run setting: cv::dnn backend id (default cv2.dnn.DNN_BACKEND_OPENCV).")                                       \
    X(RUN, int, target, "target", dnn::DNN_TARGET_CPU,                                                               \
      true, "",                                                                                                      \
      "Run setting: cv::dnn target id (default cv2.dnn.DNN_TARGET_CPU).")                                            \
    X(MODEL, bool, embedModel, "embed_model", true,                                                                  \
      true, "",                                                                                                      \
      "Store the ONNX bytes inside saved files (default True).")                                                     \
    X(MODEL, int, inputMode, "input_mode", INPUT_AUTO,                                                               \
      v >= INPUT_CENTER_CROP && v <= INPUT_FRAME, "must be a cv::patchcore::InputMode",                              \
      "An INPUT_* constant (default INPUT_AUTO; INPUT_CENTER_CROP is the reference).")                               \
    X(MODEL, double, tileScale, "tile_scale", 1.0,                                                                   \
      v > 0 && v <= 16, "must be in (0, 16]",                                                                        \
      "INPUT_TILES / INPUT_FRAME: image scale before the backbone (default 1).")                                     \
    X(MODEL, double, tileOverlap, "tile_overlap", 0.25,                                                              \
      v >= 0 && v <= 0.9, "must be in [0, 0.9]",                                                                     \
      "INPUT_TILES: overlap of neighbouring tiles, in [0, 0.9] (default 0.25).")                                     \
    X(RUN, int, coresetDevice, "coreset_device", DEVICE_AUTO,                                                        \
      v >= DEVICE_AUTO && v <= DEVICE_CUDA, "must be a cv::patchcore::ComputeDevice",                                \
      "Run setting: a DEVICE_* constant (default DEVICE_AUTO).")                                                     \
    X(RUN, int, searchDevice, "search_device", DEVICE_AUTO,                                                          \
      v >= DEVICE_AUTO && v <= DEVICE_CUDA, "must be a cv::patchcore::ComputeDevice",                                \
      "Run setting: a DEVICE_* constant (default DEVICE_AUTO).")                                                     \
    X(MODEL, int, searchMethod, "search_method", SEARCH_AUTO,                                                        \
      v == SEARCH_EXACT || v == SEARCH_APPROXIMATE || v == SEARCH_AUTO,                                              \
      "must be a cv::patchcore::SearchMethod (SEARCH_EXACT, SEARCH_APPROXIMATE or SEARCH_AUTO)",                     \
      "A SEARCH_* constant (default SEARCH_AUTO).")                                                                  \
    X(MODEL, bool, bankFp16, "bank_fp16", false,                                                                     \
      true, "",                                                                                                      \
      "Round the memory bank to 16-bit floats (default False).")                                                     \
    X(RUN, double, memoryBudgetMB, "memory_budget_mb", 2048,                                                         \
      v >= 0, "must be >= 0 (0 = no bound)",                                                                         \
      "Run setting: training memory bound for patch vectors, MiB (default 2048; 0 = none).")                         \
    X(RUN, double, maxImageMB, "max_image_mb", 2048,                                                                 \
      v >= 0, "must be >= 0 (0 = only the memory this process may use)",                                             \
      "Run setting: largest memory one image may take, MiB (default 2048; 0 = the process's).")                      \
    X(MODEL, int, coresetMaxSize, "coreset_max_size", -1,                                                            \
      v >= -1, "must be -1 (automatic), 0 (no cap) or a positive bank size",                                         \
      "Largest memory bank (default -1: automatic; 0 = no cap).")                                                    \
    X(MODEL, int, coresetChunkRows, "coreset_chunk_rows", -1,                                                        \
      v == -1 || v == 0 || v >= 1024,                                                                                \
      "must be -1 (automatic), 0 (one selection over all vectors) or at least 1024",                                 \
      "Composable greedy selection chunk (default -1: automatic; 0 = one selection).")                               \
    X(MODEL, double, coresetCoverageStop, "coreset_coverage_stop", 0.0,                                              \
      v >= 0 && v < 1, "must be in [0, 1) (0 = off)",                                                                \
      "Stop greedy selection when doubling the bank shrinks its coverage radius by less (default 0: off).")          \
    X(MODEL, double, calibrationFraction, "calibration_fraction", 0.0,                                               \
      v >= 0 && v < 1, "must be in [0, 1)",                                                                          \
      "Fraction of training images held out to calibrate thresholds (default 0).")                                   \
    X(MODEL, double, imageFalseAlarmRate, "image_false_alarm_rate", 0.01,                                            \
      v > 0 && v < 1, "must be in (0, 1)",                                                                           \
      "Calibration target for images (default 0.01).")                                                               \
    X(MODEL, double, pixelFalseAlarmRate, "pixel_false_alarm_rate", 0.001,                                           \
      v > 0 && v < 1, "must be in (0, 1)",                                                                           \
      "Calibration target for pixels (default 0.001).")

#endif
