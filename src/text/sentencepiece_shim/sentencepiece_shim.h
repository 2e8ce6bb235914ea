#pragma once
// A C interface to libsentencepiece, compiled into its own shared library
// (libelm_sentencepiece.so) that the text layer loads with dlopen(RTLD_LOCAL | RTLD_DEEPBIND).
//
// Why: Debian's libsentencepiece.so bundles a protobuf-lite and absl flags and exports them. Linked
// into a program that also loads LibTorch's libprotobuf.so, the two copies interpose each other and
// the process crashes before main() (google/sentencepiece#723, #944). Loaded as a private,
// deep-bound group, sentencepiece only ever sees its own copies and nothing else sees them.
#include <stddef.h>

extern "C" {

struct elm_spm;

// Errors: functions that can fail take `char** error`, set it to a malloc'd message (free it with
// elm_spm_free_string) and return null / non-zero.
elm_spm* elm_spm_load(const char* path, char** error);
void elm_spm_free(elm_spm* model);
int elm_spm_piece_size(const elm_spm* model);
int elm_spm_piece_to_id(const elm_spm* model, const char* piece, size_t size);
// The piece of an id in [0, piece_size); the bytes live as long as the model.
const char* elm_spm_id_to_piece(const elm_spm* model, int id, size_t* size);
int elm_spm_is_unknown(const elm_spm* model, int id);
int elm_spm_is_control(const elm_spm* model, int id);
// Encodes text; calls emit(context, piece, size, id) for each piece in order. Returns 0 on success.
int elm_spm_encode(const elm_spm* model, const char* text, size_t size,
                   void (*emit)(void* context, const char* piece, size_t piece_size, int id), void* context,
                   char** error);
// Trains a model from `num_options` key/value options and the sentences; on success *model_bytes
// (malloc'd, free with elm_spm_free_string) holds the serialized ModelProto. The trainer's random
// generator is seeded with `seed`. Returns 0 on success.
int elm_spm_train(const char* const* keys, const char* const* values, size_t num_options, const char* const* sentences,
                  size_t num_sentences, unsigned int seed, char** model_bytes, size_t* model_size, char** error);
void elm_spm_free_string(char* s);

}  // extern "C"
