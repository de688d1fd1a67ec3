-- Made by the pre-SQLAlchemy services (sqlite3 wrapper, commit b4acc93) with sqlite3 .dump;
-- (then values made valid for the API: the prompt_runs row's JSON, written with RunRecord.model_dump_json(),
-- the document kind 'md', the battles' figures and the download kind 'hub'); the admin key is mp-QILQoKwfihAwhUsgs8AYr01U_JtqrReIXcMeLqV522o.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    admin INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    last_used_at REAL,
    revoked_at REAL
);
INSERT INTO api_keys VALUES('55825695b6db442d','legacy-admin','mp-QILQoK','7128aaf5c3de2d5990620b26c9dbc2bc942f02159727bf10e773476602cf1b21',1,1796301964.9372663497,NULL,NULL);
INSERT INTO api_keys VALUES('fb6a0a2dff9649b1','legacy-user','mp-BT1n9h','deeff1bb2d9b65e224fc54beee3afca35e3f47886774a2471dfa0de58ee320c5',0,1796301964.9391932487,NULL,NULL);
INSERT INTO api_keys VALUES('8091228a6b0a44ca','legacy-revoked','mp-s8XkuK','d432e5d82cc8fe3228fbadd7c88963eb8f14f2636ec19b2a9eaba2a55f007f97',0,1796301964.9415206908,NULL,1796301964.9448664188);
CREATE TABLE auth_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO auth_meta VALUES('jwt_secret','KAaYPfWQ8N49tITvguGhiGlwKEOgfJ8tOLiqMuB_V_QkkN4LnLVH2MwM_SAS-osx');
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    model TEXT,
    backend TEXT,
    system TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
INSERT INTO conversations VALUES('conv_3dbbcb83150d49b2ab47','Legacy chat','tiny','transformers','Be brief.',1796301964.9494519233,1796301964.9519109725);
CREATE TABLE conversation_messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at REAL NOT NULL,
    model TEXT,
    backend TEXT,
    parameters TEXT,
    finish_reason TEXT,
    ttft_ms REAL,
    tokens_per_second REAL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    total_ms REAL,
    UNIQUE (conversation_id, position)
);
INSERT INTO conversation_messages VALUES('msg_afc9d03267374b2fbccc','conv_3dbbcb83150d49b2ab47',0,'user','Hello 100% _there_',1796301964.9512765407,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL);
INSERT INTO conversation_messages VALUES('msg_1f8d701697b84fb38cf2','conv_3dbbcb83150d49b2ab47',1,'assistant','Hi!',1796301964.9512898921,'tiny','transformers','{"temperature": 0.5}','stop',12.5,40.25,7,3,80.0);
CREATE TABLE rag_collections (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    embedding_model TEXT NOT NULL,
    dimension INTEGER NOT NULL,
    chunk_size INTEGER NOT NULL,
    chunk_overlap INTEGER NOT NULL,
    vector_name TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL
, retrieval_mode TEXT NOT NULL DEFAULT 'hybrid');
INSERT INTO rag_collections VALUES('col1','legacy-kb','old kb','tiny-embed',32,400,40,'kb_col1',1796301964.9633898735,'dense');
CREATE TABLE rag_documents (
    id TEXT PRIMARY KEY,
    collection_id TEXT NOT NULL REFERENCES rag_collections(id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    kind TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    pages INTEGER NOT NULL,
    chunks INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}',
    stored_name TEXT NOT NULL,
    chunk_size INTEGER NOT NULL,
    chunk_overlap INTEGER NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (collection_id, sha256)
);
INSERT INTO rag_documents VALUES('doc1','col1','guide.md','md','abababababababababababababababababababababababababababababababab',1234,2,5,'ready','["a", "b"]','{"author": "x"}','doc1.md',400,40,1796301964.9658803939);
CREATE TABLE rag_jobs (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    collection_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    status TEXT NOT NULL,
    pages_total INTEGER NOT NULL DEFAULT 0,
    pages_parsed INTEGER NOT NULL DEFAULT 0,
    chunks_total INTEGER NOT NULL DEFAULT 0,
    chunks_embedded INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
INSERT INTO rag_jobs VALUES('job1','doc1','col1','guide.md','succeeded',2,2,5,5,NULL,1796301964.9658803939,1796301964.9678239822);
CREATE TABLE rag_evaluations (
    id TEXT PRIMARY KEY,
    collection_id TEXT NOT NULL,
    status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    stage TEXT NOT NULL DEFAULT '',
    error TEXT,
    request TEXT NOT NULL,
    result TEXT,
    created_at REAL NOT NULL
);
INSERT INTO rag_evaluations VALUES('eval1','col1','succeeded',1.0,'done',NULL,'{"questions": [], "configurations": []}','{"ok": true}',1796301964.9715108871);
CREATE TABLE download_jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    repo_id TEXT,
    revision TEXT,
    commit_sha TEXT,
    url TEXT,
    name TEXT NOT NULL,
    single_file INTEGER NOT NULL,
    files TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    error_code TEXT,
    bytes_total INTEGER,
    bytes_done INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL
);
INSERT INTO download_jobs VALUES('dl1','hub','org/model','main','c0ffee',NULL,'org--model',0,'[{"path": "model.safetensors", "url": null, "size": 5000000000, "sha256": null, "git_sha1": null}]','completed',NULL,NULL,5000000000,5000000000,1796301964.9747684001,1796301964.9747710228,1796301964.9747452735);
CREATE TABLE files (
    id TEXT PRIMARY KEY,
    filename TEXT NOT NULL,
    purpose TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
INSERT INTO files VALUES('file-aeb8ab67d9cb4482904b4edfd13f98ac','input.jsonl','batch',20,1796301964);
CREATE TABLE batches (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    created_at REAL NOT NULL
);
INSERT INTO batches VALUES('batch_legacy','{"id":"batch_legacy","object":"batch","endpoint":"/v1/chat/completions","errors":null,"input_file_id":"file-aeb8ab67d9cb4482904b4edfd13f98ac","completion_window":"24h","status":"completed","output_file_id":null,"error_file_id":null,"created_at":1796301964,"in_progress_at":null,"expires_at":null,"finalizing_at":null,"completed_at":1796301964,"failed_at":null,"expired_at":null,"cancelling_at":null,"cancelled_at":null,"request_counts":{"total":2,"completed":1,"failed":1},"metadata":null}',1796301964.9840407371);
CREATE TABLE batch_lines (
    batch_id TEXT NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    line_no INTEGER NOT NULL,
    custom_id TEXT NOT NULL,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    result TEXT,
    PRIMARY KEY (batch_id, line_no)
);
INSERT INTO batch_lines VALUES('batch_legacy',1,'r1','/v1/chat/completions','{"model": "tiny", "messages": []}','completed','{"id": "r1", "response": {"status_code": 200}}');
INSERT INTO batch_lines VALUES('batch_legacy',2,'r2','/v1/chat/completions','{"model": "tiny", "messages": []}','failed','{"id": "r2", "error": {"message": "boom"}}');
CREATE TABLE responses (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    model TEXT NOT NULL,
    previous_response_id TEXT,
    input_items TEXT NOT NULL,
    history TEXT NOT NULL,
    response TEXT NOT NULL
);
INSERT INTO responses VALUES('resp_legacy',1796301964.9915094375,'tiny',NULL,'[{"role": "user", "content": "hi"}]','[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]','{"id": "resp_legacy", "model": "tiny", "object": "response", "output": []}');
CREATE TABLE arena_battles (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    prompt TEXT NOT NULL,
    system TEXT,
    params TEXT NOT NULL,
    model_a TEXT NOT NULL,
    model_b TEXT NOT NULL,
    answer_a TEXT NOT NULL,
    answer_b TEXT NOT NULL,
    figures_a TEXT NOT NULL,
    figures_b TEXT NOT NULL
);
INSERT INTO arena_battles VALUES('battle_legacy',1796301964.9959235191,'Which?',NULL,'{"seed": 1}','tiny','smol','A','B','{"ttft_ms": 1.5, "tokens_per_s": 30.5, "tokens": 4, "finish_reason": "stop", "backend": "transformers"}','{"ttft_ms": 2.5, "tokens_per_s": 30.5, "tokens": 5, "finish_reason": "stop", "backend": "llamacpp"}');
INSERT INTO arena_battles VALUES('battle_legacy2',1796301965.0052177905,'Tie?','sys','{}','smol','tiny','x','y','{"ttft_ms": 3.5, "tokens_per_s": 30.5, "tokens": 6, "finish_reason": "stop", "backend": "llamacpp"}','{"ttft_ms": 4.5, "tokens_per_s": 30.5, "tokens": 7, "finish_reason": "stop", "backend": "transformers"}');
CREATE TABLE arena_votes (
    battle_id TEXT NOT NULL UNIQUE REFERENCES arena_battles(id) ON DELETE CASCADE,
    winner TEXT NOT NULL CHECK (winner IN ('a', 'b', 'tie', 'both_bad')),
    created_at REAL NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('battle', 'run'))
);
INSERT INTO arena_votes VALUES('battle_legacy','a',1796301965.0033814906,'battle');
INSERT INTO arena_votes VALUES('battle_legacy2','tie',1796301965.0075354576,'run');
CREATE TABLE prompt_runs (
    id TEXT PRIMARY KEY,
    batch_id TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at REAL NOT NULL
);
INSERT INTO prompt_runs VALUES('run_legacy','batch_legacy','{"id":"run_legacy","batch_id":"batch_legacy","name":"legacy run","columns":[{"model":"tiny","backend":"transformers"}],"labels":["tiny"],"rows":[{"id":null,"prompt":"Say hi","system":null,"expected":null,"contains":[],"regex":null,"json_schema":null},{"id":null,"prompt":"Say bye","system":null,"expected":null,"contains":[],"regex":null,"json_schema":null}],"params":{"max_tokens":8,"temperature":null,"top_p":null,"top_k":null,"repetition_penalty":null,"seed":7,"stop":[]},"manifest":{"models":[{"label":"tiny","model":"tiny","backend":"transformers","format":"transformers","size_bytes":1234,"sha256":"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"}],"params":{"max_tokens":8,"temperature":null,"top_p":null,"top_k":null,"repetition_penalty":null,"seed":7,"stop":[]},"seed":7,"rows_sha256":"efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef","app_version":"0.1.0","created_at":1796301965.011561,"rerun_of":null,"changed_models":[]},"created_at":1796301965.011561,"rerun_of":null}',1796301965.0115609168);
CREATE TABLE prompt_run_ratings (
    run_id TEXT NOT NULL REFERENCES prompt_runs(id) ON DELETE CASCADE,
    row_no INTEGER NOT NULL,
    model TEXT NOT NULL,
    thumb TEXT NOT NULL,
    rated_at REAL NOT NULL,
    PRIMARY KEY (run_id, row_no, model)
);
INSERT INTO prompt_run_ratings VALUES('run_legacy',1,'tiny','up',1796301965.0135726928);
CREATE INDEX conversations_updated ON conversations(updated_at);
CREATE INDEX rag_documents_collection ON rag_documents(collection_id);
CREATE INDEX rag_jobs_status ON rag_jobs(status);
CREATE INDEX arena_votes_created ON arena_votes(created_at);
COMMIT;
