// The server API (same origin), the API key kept in localStorage, and the caller's role.

const KEY = 'lantu.apiKey';

export function getKey() {
  try { return localStorage.getItem(KEY) || ''; } catch { return ''; }
}

export function setKey(k) {
  try {
    if (k) localStorage.setItem(KEY, k);
    else localStorage.removeItem(KEY);
  } catch { /* private mode: the key lives only in this page */ }
}

export function authHeaders() {
  const k = getKey();
  return k ? { Authorization: `Bearer ${k}` } : {};
}

/** An application/problem+json answer. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.title = problem.title || '';
    this.detail = problem.detail || '';
    this.input = problem.input;
  }
}

const STATUS_TEXT = {
  400: '请求有误',
  401: '密钥无效或未登录',
  403: '当前身份无权执行此操作',
  404: '未找到',
  408: '请求超时',
  409: '与当前状态冲突',
  413: '文件或请求过大',
  422: '输入无法处理',
  500: '服务器内部错误',
  503: '服务器繁忙，请稍后重试',
};

/** The Chinese line shown for a failed request: "提交失败：…（detail）". */
export function failure(err, what = '提交失败') {
  if (err instanceof ApiError) {
    const hint = STATUS_TEXT[err.status] || `HTTP ${err.status}`;
    return `${what}：${err.detail || hint}（${hint}）`;
  }
  return `${what}：${err && err.message ? err.message : err}`;
}

/**
 * Calls the API. `json` sends a JSON body; `body` sends as is (FormData for uploads);
 * `raw` returns the Response (downloads).
 */
export async function api(path, { method = 'GET', json, body, raw = false } = {}) {
  const headers = { ...authHeaders() };
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  const res = await fetch(path, { method, headers, body });
  if (!res.ok) {
    let problem;
    try { problem = await res.json(); } catch { problem = { title: res.statusText }; }
    throw new ApiError(res.status, problem || {});
  }
  if (raw) return res;
  const ct = res.headers.get('content-type') || '';
  return ct.includes('json') ? res.json() : res.text();
}

/** What each role may do, as the server decides it (server/auth.rs `Role::allows`). */
export const PERMS = {
  viewer: [],
  planner: ['reconcile', 'transition'],
  land_sale: ['issue'],
  admin: ['reconcile', 'transition', 'issue', 'admin'],
};

export const ROLE_NAMES = {
  viewer: '查看',
  planner: '规划人员',
  land_sale: '土地出让人员',
  admin: '管理员',
};

/**
 * The caller's role and name. The API has no "who am I" route, so this asks for the audit log
 * (admins only, changes nothing): 200 means admin, and a 403 names the role and key name.
 */
export async function whoami() {
  // Without a key the server's anonymous role applies: viewer, as `lantu serve` sets it.
  if (!getKey()) return { role: 'viewer', name: '' };
  try {
    await api('/api/audit?limit=1');
    return { role: 'admin', name: '' };
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) {
      const m = /role `([a-z_]+)` \((.*)\) may not/.exec(e.detail);
      if (m) return { role: m[1], name: m[2] === 'anonymous' ? '' : m[2] };
      return { role: 'viewer', name: '' };
    }
    throw e;
  }
}
