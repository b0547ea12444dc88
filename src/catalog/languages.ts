// Tool wording beyond plain English, for the risk classifier: names read as they render (full-width letters,
// zero-width characters, look-alike letters of other scripts, accents), verbs of the European languages MCP servers
// are written in, and stems for scripts that join words (Chinese, Japanese) or inflect them heavily (Korean, Russian).
import { latinLookalikes, visibleText } from '../policy/names.js';
import { DESTRUCTIVE, EXECUTE, FINANCIAL, READ, WRITE } from './ranks.js';

const NON_ASCII = /[^\x00-\x7f]/;
const LATIN = /[A-Za-z]/;
const MARKS = /\p{M}/gu;

/**
 * The name as a reader sees it, for splitting into words: NFKC, invisible characters dropped, accents dropped, and in a
 * name that has Latin letters, look-alikes of other scripts mapped to them ("dеlete" with a Cyrillic "е" is delete).
 */
export function readableName(name: string): string {
  if (!beyondAscii(name)) return name;
  const visible = visibleText(name);
  const latin = LATIN.test(visible) ? latinLookalikes(visible) : visible;
  return latin.normalize('NFD').replace(MARKS, '').normalize('NFC');
}

// What NFKC or dropping invisible characters changes in running text (emoji and typographic quotes need nothing):
// invisible and format characters, no-break spaces, full-width forms, ligatures, enclosed and super/subscript forms,
// mathematical letters. (With the u flag: a lone surrogate in a class makes V8 scan three times slower.)
const MASKED =
  /[\u00A0\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u2000-\u200F\u2028-\u202F\u205F-\u206F\u2070-\u209F\u2460-\u24FF\u3000\u3164\uFB00-\uFB06\uFE00-\uFE0F\uFEFF\uFF00-\uFFEF\u{1D400}-\u{1D7FF}]/u;

/** Whether text has anything beyond ASCII: only then is any of the work below needed. */
export function beyondAscii(text: string): boolean {
  return NON_ASCII.test(text);
}

/** Text beyond ASCII as it renders: NFKC, without characters that render as nothing (they split words otherwise). */
export function readableText(text: string): string {
  return MASKED.test(text) ? visibleText(text) : text;
}

// Verbs of tool names in Spanish, Portuguese, French, Italian, German and Dutch, without accents (names are folded so),
// German umlauts also spelled out (loeschen). Infinitives and imperatives, as names use them.
const NAME_WORDS: Record<number, string> = {
  [READ]:
    'listar buscar obtener obter leer ler consultar lister chercher obtenir lire afficher elencare cercare ottenere leggere ' +
    'auflisten suchen lesen abrufen anzeigen zoeken lezen ophalen tonen',
  [WRITE]:
    'crear criar creer creare erstellen anlegen maken actualizar atualizar modificar editar mettre modifier aggiornare ' +
    'modificare aktualisieren andern aendern bijwerken wijzigen enviar envoyer inviare senden versturen guardar salvar ' +
    'enregistrer salvare speichern opslaan agregar adicionar ajouter aggiungere hinzufugen hinzufuegen toevoegen',
  [EXECUTE]: 'ejecutar executar executer eseguire ausfuhren ausfuehren uitvoeren',
  [DESTRUCTIVE]:
    'borrar eliminar suprimir excluir remover supprimer effacer eliminare cancellare rimuovere loschen loeschen entfernen ' +
    'verwijderen',
  [FINANCIAL]: 'pagar reembolsar payer rembourser pagare rimborsare zahlen bezahlen uberweisen ueberweisen betalen',
};

/** Foreign name verbs by word, for the name reader's table. */
export const FOREIGN_NAME_VERBS: ReadonlyMap<string, number> = new Map(
  Object.entries(NAME_WORDS).flatMap(([rank, words]) => words.split(' ').map((w) => [w, Number(rank)] as [string, number])),
);

// Descriptions: conjugated forms seen in tool descriptions (third person, infinitive, imperative), accents kept.
export const FOREIGN_DESCRIPTION_WORDS: Record<number, string> = {
  [WRITE]:
    'erstellen erstellt aktualisieren aktualisiert senden sendet créer crée envoyer envoie modifier modifie crear crea ' +
    'enviar envía actualizar actualiza criar cria atualizar atualiza envia creare crea aggiornare aggiorna inviare invia ' +
    'maakt aanmaken bijwerken verstuurt versturen',
  [EXECUTE]: 'ausführen exécuter exécute ejecutar ejecuta executar executa eseguire esegue uitvoeren voert',
  [DESTRUCTIVE]:
    'löschen löscht lösche entfernen entfernt supprimer supprime effacer efface eliminar elimina borrar borra excluir exclui ' +
    'eliminare cancellare cancella rimuovere rimuove verwijderen verwijdert',
  [FINANCIAL]:
    'zahlen zahlt bezahlen bezahlt überweisen überweist payer paie paye rembourser rembourse pagar paga reembolsar reembolsa ' +
    'pagare rimborsare rimborsa betalen betaalt',
};

// Stems of scripts without spaces between words, or with many endings: each matches every form of its word.
const STEMS: [number, string][] = [
  [FINANCIAL, '支付 付款 转账 轉帳 退款 汇款 匯款 购买 購買 扣款 支払 送金 返金 購入 決済 振込 결제 송금 환불 구매 지불 оплат оплач заплат возврат средств перевод средств купит покупа'],
  [DESTRUCTIVE, '删除 刪除 清空 清除 销毁 銷毀 移除 擦除 注销 註銷 卸载 卸載 削除 消去 破棄 抹消 ログアウト アンインストール 삭제 제거 로그아웃 удалит удаля удалени стереть стира очист уничтож отозва'],
  [EXECUTE, '执行 執行 运行 運行 実行 실행 выполн запуст исполн'],
  [WRITE, '创建 創建 更新 修改 发送 發送 写入 寫入 添加 作成 送信 書き込 追加 編集 생성 수정 전송 추가 작성 созда обнов измен отправ добав запис'],
];
/** Running a command, a script or code is Execute; "выполняет поиск" (performs a search) is not. */
const CODE_OBJECT = /命令|指令|脚本|腳本|代码|代碼|程序|コマンド|スクリプト|コード|プログラム|명령|스크립트|코드|프로그램|команд|скрипт|код|sql|shell|bash|python|javascript/;
/** A payment or an update after one of these in the clause is what is read ("获取支付记录", "получает изменения"). */
const READ_BEFORE = /获取|獲取|查询|查詢|列出|查看|取得|検索|一覧|表示|조회|검색|목록|получ|спис|найти|найд|показ|просмотр/;
const NEGATED_BEFORE = /(?:(?:不|没|沒|未|无|無|禁止)[会會能可要得]?|안 |(?:^|[^а-яё])(?:не|нельзя|без) )$/;
const NEGATED_AFTER = /^.{0,3}(?:しない|しません|されません|せず|않)/;
const CLAUSE_END = /[。．.！!？?；;\n]/;
const OTHER_SCRIPTS = /[\u0400-\u04ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/;
const STEM_PATTERNS: [number, RegExp][] = STEMS.map(([rank, stems]) => [rank, new RegExp(stems.split(' ').join('|'), 'g')]);

/** Hands a signal to the classifier. */
export type StemEmit = (rank: number, text: string) => void;

/** The clause around `index`: from the last clause end before it to the next one after it. */
function clauseAround(lower: string, index: number, length: number): [number, number] {
  let start = index;
  while (start > 0 && !CLAUSE_END.test(lower[start - 1]!)) start--;
  let end = index + length;
  while (end < lower.length && !CLAUSE_END.test(lower[end]!)) end++;
  return [start, end];
}

/**
 * Emits, per category, the first stem in `text` that is not negated ("不会删除", "削除しません", "не удаляет"), with
 * the words around it as evidence. Only text in one of these scripts is scanned; `where` is "name" or "description".
 */
export function readStems(text: string, where: string, emit: StemEmit): void {
  if (!OTHER_SCRIPTS.test(text)) return;
  const lower = text.toLowerCase();
  for (const [rank, pattern] of STEM_PATTERNS) {
    pattern.lastIndex = 0;
    for (let m = pattern.exec(lower); m !== null; m = pattern.exec(lower)) {
      const before = lower.slice(Math.max(0, m.index - 7), m.index);
      const after = lower.slice(m.index + m[0].length, m.index + m[0].length + 8);
      if (NEGATED_BEFORE.test(before) || NEGATED_AFTER.test(after)) continue;
      const [start, end] = clauseAround(lower, m.index, m[0].length);
      const clause = lower.slice(start, end);
      if (rank === EXECUTE && !CODE_OBJECT.test(clause)) continue;
      if ((rank === FINANCIAL || rank === WRITE) && READ_BEFORE.test(lower.slice(start, m.index))) continue;
      emit(rank, `${where}: "${clause.trim().slice(0, 40)}"`);
      break;
    }
  }
}
